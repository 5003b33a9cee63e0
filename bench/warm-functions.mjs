// Handlers for bench/warm-dispatch.ts, shared by the Kiln worker (through
// KILN_FUNCTIONS_MODULE) and the BullMQ worker (bench/bullmq-worker.mjs), so both run the same code.
import { createSocket } from 'node:dgram';

// Created at load, so no job pays for it; unref'd so it never keeps a process alive.
const sock = createSocket('udp4');
sock.unref();

/**
 * First thing: read CLOCK_MONOTONIC (process.hrtime, system-wide on Linux, so comparable
 * across processes), then report it to the bench over UDP (`<tag> <ns>`) and return it.
 */
export function stamp(input) {
  const t = process.hrtime.bigint();
  if (input && typeof input.port === 'number') sock.send(`${input.tag} ${t}`, input.port, '127.0.0.1');
  return { entered_ns: String(t) };
}

/** Does nothing (throughput runs). */
export function noop() {
  return null;
}
