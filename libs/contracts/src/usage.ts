/** Token usage: reported by agents, carried by terminal events and jobs. */
import { z } from 'zod';

export const usageSchema = z.strictObject({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof usageSchema>;

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({ input_tokens: 0, output_tokens: 0 });
