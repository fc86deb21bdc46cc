/**
 * Input schemas of the agents the platform knows, validated by the API when a job is created (so bad input is a
 * 400 at once), and again by the worker that runs the agent.
 */
import { z } from 'zod';

/** Splits an echo message into tokens exactly as the contract says. */
export const ECHO_TOKEN_RE = /\S+\s*|\s+/g;
export function echoTokens(message: string): string[] {
  return message.match(ECHO_TOKEN_RE) ?? [];
}

export const ECHO_MAX_TOKENS = 1_000_000;

export const echoInputSchema = z
  .strictObject({
    message: z.string().max(1_000_000),
    repeat: z.number().int().min(1).max(100_000).default(1),
    delay_ms: z.number().int().min(0).max(60_000).default(0),
    fail_after: z.number().int().min(0).optional(),
    tool: z.boolean().default(false),
  })
  .refine((i) => echoTokens(i.message).length * i.repeat <= ECHO_MAX_TOKENS, {
    message: `message × repeat must be at most ${ECHO_MAX_TOKENS} tokens`,
    path: ['repeat'],
  });
export type EchoInput = z.infer<typeof echoInputSchema>;

/** Agent name → input schema. Workers register the implementations under the same names. */
export const AGENT_INPUT_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  echo: echoInputSchema,
};

export function knownAgents(): string[] {
  return Object.keys(AGENT_INPUT_SCHEMAS);
}
