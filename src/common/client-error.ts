/**
 * Protocol-level errors (Node's `clientError`: malformed request line or headers, headers or URL over
 * `--max-http-header-size`, bad chunked framing, a request that took too long to arrive) answered as the contract's
 * JSON error instead of Node's bare `400 Bad Request` with no body. The connection is closed afterwards: after a
 * framing error nothing more on it can be trusted.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from '@jobstream/contracts';

interface ClientErrorLike extends Error {
  code?: string;
  /** The bytes the parser was reading when it failed (Node sets it for parse errors). */
  rawPacket?: Buffer;
}

/** Status, code and message for a parser error code (llhttp `HPE_*`, Node `ERR_HTTP_*`). */
export function describeClientError(err: ClientErrorLike): { status: number; reason: string; body: ErrorBody } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        body: {
          error: {
            code: 'headers_too_large',
            message: 'the request line and headers are too large (the URL counts too)',
          },
        },
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT' as string:
      return {
        status: 408,
        reason: 'Request Timeout',
        body: { error: { code: 'request_timeout', message: 'the request did not arrive in time' } },
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return {
        status: 400,
        reason: 'Bad Request',
        body: { error: { code: 'invalid_request', message: 'malformed request body framing' } },
      };
    default:
      return {
        status: 400,
        reason: 'Bad Request',
        body: { error: { code: 'invalid_request', message: 'malformed HTTP request' } },
      };
  }
}

export function clientErrorResponse(err: ClientErrorLike): string {
  const { status, reason, body } = describeClientError(err);
  // a HEAD request gets the headers only (as far as the bytes read tell the method)
  const head = err.rawPacket !== undefined && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  const json = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(json)}\r\n` +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n' +
    '\r\n' +
    (head ? '' : json)
  );
}

/** Installs the handler on the app's HTTP server (replacing Node's default answer). */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: ClientErrorLike, socket: Duplex) => {
    // a reset connection has no one to answer; a response already under way cannot be replaced
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err));
  });
}
