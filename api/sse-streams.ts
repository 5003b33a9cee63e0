/**
 * The cap on Server-Sent Event streams one API process (or workerd isolate) serves
 * at once (GET /jobs/:id/events, GET /jobs/:id/logs?follow=true), and the answer
 * past it: 429 with Retry-After.
 */
import type { Context } from 'hono';
import type { SSEStreamingApi } from 'hono/streaming';
import type { Logger } from '../core/logger';

export interface SseStreams {
  /** A slot for one stream, or null when all are taken; call the release function once when it ends. */
  acquire(): (() => void) | null;
  readonly open: number;
}

export function createSseStreams(max: number): SseStreams {
  let open = 0;
  return {
    acquire() {
      if (open >= max) return null;
      open++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open--;
      };
    },
    get open() {
      return open;
    },
  };
}

/** Seconds a client refused for want of a stream slot should wait. */
export const STREAMS_RETRY_AFTER_S = 5;

export function tooManyStreams(c: Context, max: number): Response {
  return c.json({
    error: {
      code: 'TOO_MANY_STREAMS',
      message: `this API process already serves ${max} event streams (KILN_SSE_MAX_STREAMS); retry after ${STREAMS_RETRY_AFTER_S} s, or poll GET /jobs/{id} instead`,
    },
  }, 429, { 'retry-after': String(STREAMS_RETRY_AFTER_S) });
}

/**
 * Runs one stream's loop in its slot: the slot is released however it ends, and a
 * failure (Redis gone mid-stream) is logged and told to the client as an `error`
 * event without internal detail, instead of Hono's raw error message.
 */
export async function runStream(stream: SSEStreamingApi, o: { release: () => void; logger: Logger; what: string }, loop: () => Promise<void>): Promise<void> {
  try {
    await loop();
  } catch (err) {
    o.logger.warn(`${o.what} stopped: ${err instanceof Error ? err.message : String(err)}`);
    if (!stream.closed) {
      await stream.writeSSE({ event: 'error', data: JSON.stringify({ code: 'STREAM_FAILED', message: 'the stream stopped on a server error (the server log has the details); reconnect with Last-Event-ID to go on' }) })
        .catch(() => undefined); // the client may be gone as well: nothing left to tell
    }
  } finally {
    o.release();
  }
}
