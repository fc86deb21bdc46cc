/**
 * How an AG-UI run becomes a turn's input, per agent (docs/ag-ui.md). The thread gives the agent the earlier turns;
 * a run adds only the messages since the last turn. `forwardedProps.input` is merged over the result.
 * - `echo`: the last user message's text is `message`; frontend tools are not used by echo on its own (its
 *   `client_tool` input, given through `forwardedProps.input`, makes it call one).
 * - `openai` (and any other agent): the new user / system / developer messages as chat messages
 *   (`{ role, content }`, content as text), and the frontend tools as client-side tools (`client: true`).
 */
import { ApiError } from '../common/api-error.js';
import { newMessages, textOf, type AgUiMessage, type AgUiTool } from './run-agent-input.js';

export function turnInput(
  agent: string,
  messages: AgUiMessage[],
  tools: AgUiTool[],
  extra: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const fresh = newMessages(messages).filter((m) => m.role === 'user' || m.role === 'system' || m.role === 'developer');
  let input: Record<string, unknown>;
  if (agent === 'echo') {
    const user = fresh.filter((m) => m.role === 'user').pop();
    if (!user) throw ApiError.invalid('messages: no user message since the last assistant message');
    input = { message: textOf(user) };
  } else {
    if (fresh.length === 0) throw ApiError.invalid('messages: no new message since the last assistant message');
    input = { messages: fresh.map((m) => ({ role: m.role, content: textOf(m) })) };
    if (tools.length > 0) {
      input['tools'] = tools.map((t) => ({
        type: 'function',
        client: true,
        function: { name: t.name, description: t.description, ...(t.parameters ? { parameters: t.parameters } : {}) },
      }));
    }
  }
  return { ...input, ...extra };
}
