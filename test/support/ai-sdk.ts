/**
 * The AI SDK's own client machinery, without React: what `useChat` runs underneath. `TestChat` is `AbstractChat`
 * (the class @ai-sdk/react's `Chat` extends) with an in-memory state, and the transport is the package's
 * `DefaultChatTransport`, pointed at a job's `?format=ai-sdk` stream for its reconnect (resume) path.
 */
import {
  AbstractChat,
  DefaultChatTransport,
  readUIMessageStream,
  type ChatState,
  type ChatStatus,
  type UIMessage,
} from 'ai';

class MemoryChatState implements ChatState<UIMessage> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  messages: UIMessage[] = [];
  pushMessage = (m: UIMessage) => void this.messages.push(m);
  popMessage = () => void this.messages.pop();
  replaceMessage = (i: number, m: UIMessage) => void (this.messages[i] = m);
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

export class TestChat extends AbstractChat<UIMessage> {
  constructor(transport: DefaultChatTransport<UIMessage>, id = 'chat-1') {
    super({ id, transport, state: new MemoryChatState() });
  }
}

/** A transport whose reconnect goes to `streamUrl` (a job's stream with `?format=ai-sdk`), as a React app wires it. */
export function jobTransport(streamUrl: string, headers: Record<string, string> = {}): DefaultChatTransport<UIMessage> {
  return new DefaultChatTransport<UIMessage>({
    api: '/unused-send-endpoint',
    headers,
    prepareReconnectToStreamRequest: () => ({ api: streamUrl }),
  });
}

/** Reads a whole `?format=ai-sdk` response with the package: the transport's parser, then `readUIMessageStream`. */
export async function readJobMessage(streamUrl: string): Promise<{ final: UIMessage | undefined; snapshots: number }> {
  const stream = await jobTransport(streamUrl).reconnectToStream({ chatId: 'c' });
  if (!stream) throw new Error('no stream (204)');
  let final: UIMessage | undefined;
  let snapshots = 0;
  for await (const m of readUIMessageStream({ stream, terminateOnError: true })) {
    final = m;
    snapshots++;
  }
  return { final, snapshots };
}

export const textOf = (m: UIMessage | undefined): string =>
  (m?.parts ?? []).flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
export const reasoningOf = (m: UIMessage | undefined): string =>
  (m?.parts ?? []).flatMap((p) => (p.type === 'reasoning' ? [p.text] : [])).join('');
export const toolPartsOf = (m: UIMessage | undefined) =>
  (m?.parts ?? []).flatMap((p) =>
    p.type === 'dynamic-tool'
      ? [
          {
            toolCallId: p.toolCallId,
            toolName: p.toolName,
            state: p.state,
            input: p.input,
            output: 'output' in p ? p.output : undefined,
          },
        ]
      : [],
  );
