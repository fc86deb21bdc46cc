/** A refusal of the Durable Streams layer: status, the contract's `{ error: { code, message } }`, extra headers. */
export class DsError extends Error {
  override readonly name = 'DsError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  static bad(code: string, message: string): DsError {
    return new DsError(400, code, message);
  }

  static notFound(name: string): DsError {
    return new DsError(404, 'not_found', `stream ${name} not found`);
  }

  static gone(name: string): DsError {
    return new DsError(410, 'stream_deleted', `stream ${name} was deleted; its forks still read its data`);
  }

  static conflict(code: string, message: string, headers: Record<string, string> = {}): DsError {
    return new DsError(409, code, message, headers);
  }
}
