/** OpenAPI decorators of the Durable Streams routes (`/ds/v1/stream/<name>`, the open protocol). */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { errorResponse } from './error-responses.js';

const err = errorResponse;
const name = ApiParam({
  name: 'name',
  type: String,
  description: 'stream name (per tenant; may contain "/"); jobs/<job_id> is a job, read-only',
  example: 'chat/room-1',
});
const common = [
  ApiTags('Durable Streams'),
  ApiBearerAuth(),
  name,
  err(401, 'no or bad API key'),
  err(404, 'no such stream for this tenant'),
  err(503, 'the log or metadata store is unavailable; retry'),
];
const offsetHeader = { name: 'Stream-Next-Offset', description: 'offset after the last message' };

export const ApiDsDocs = {
  create: () =>
    applyDecorators(
      ...common,
      ApiOperation({
        summary: 'Create a stream (idempotent), optionally with a first body, closed, with a TTL, or as a fork',
      }),
      ApiHeader({ name: 'Stream-TTL', required: false, description: 'seconds of inactivity before it expires' }),
      ApiHeader({ name: 'Stream-Expires-At', required: false, description: 'RFC 3339 expiry' }),
      ApiHeader({ name: 'Stream-Closed', required: false, description: '"true": create it closed' }),
      ApiHeader({ name: 'Stream-Forked-From', required: false, description: '/v1/stream/<source name>' }),
      ApiHeader({ name: 'Stream-Fork-Offset', required: false, description: 'fork point (default: the tail)' }),
      ApiHeader({
        name: 'Stream-Fork-Sub-Offset',
        required: false,
        description: 'bytes / messages of the next append',
      }),
      ApiResponse({ status: 201, description: 'created (Location, Stream-Next-Offset)' }),
      ApiResponse({ status: 200, description: 'already exists with the same configuration' }),
      err(400, 'bad TTL, expiry, fork or JSON'),
      err(403, 'forbidden: a name under jobs/'),
      err(409, 'stream_exists with another configuration, or stream_deleted: a source still read by forks'),
      err(429, 'rate_limited: DS_CREATES_PER_MIN, or quota_exceeded: DS_MAX_STREAMS'),
    ),
  append: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Append (and/or close with Stream-Closed: true); idempotent with Producer-* headers' }),
      ApiHeader({ name: 'Producer-Id', required: false }),
      ApiHeader({ name: 'Producer-Epoch', required: false }),
      ApiHeader({ name: 'Producer-Seq', required: false }),
      ApiHeader({ name: 'Stream-Seq', required: false, description: 'writer coordination: strictly increasing' }),
      ApiResponse({ status: 200, description: 'appended by a producer (Producer-Epoch, Producer-Seq)' }),
      ApiResponse({ status: 204, description: 'appended, closed, or a producer retry (nothing appended)' }),
      err(400, 'empty body, bad JSON, bad producer headers'),
      err(403, 'stale_producer_epoch, or forbidden: a job stream'),
      err(409, 'content_type_mismatch, stream_closed, producer_seq_gap, stream_seq_conflict'),
      err(410, 'stream_deleted: deleted, still read by forks'),
      err(413, 'body over DS_MAX_BODY_BYTES'),
    ),
  read: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Read from an offset: catch-up, long-poll or SSE' }),
      ApiQuery({ name: 'offset', required: false, type: String, description: '-1 (start), now (tail) or an offset' }),
      ApiQuery({ name: 'live', required: false, enum: ['long-poll', 'sse'] }),
      ApiQuery({
        name: 'cursor',
        required: false,
        type: String,
        description: 'Stream-Cursor of the previous response',
      }),
      ApiResponse({
        status: 200,
        description: 'messages (JSON mode: an array); Stream-Next-Offset, Stream-Up-To-Date',
        headers: { [offsetHeader.name]: { description: offsetHeader.description, schema: { type: 'string' } } },
      }),
      ApiResponse({ status: 204, description: 'long-poll: nothing new within DS_LONG_POLL_MS' }),
      ApiResponse({ status: 304, description: 'If-None-Match matched' }),
      err(400, 'bad offset, or live without offset'),
      err(410, 'stream_deleted: deleted, still read by forks'),
    ),
  head: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Stream metadata: content type, tail offset, TTL / expiry, closed' }),
      ApiResponse({ status: 200, description: 'metadata headers, no body' }),
    ),
  delete: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Delete a stream (kept for its forks until they go)' }),
      ApiResponse({ status: 204, description: 'deleted' }),
      err(403, 'forbidden: a job stream'),
      err(410, 'stream_deleted: already deleted, still read by forks'),
    ),
};
