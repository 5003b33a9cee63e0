/** Functions every `node` worker has. Add your own with KILN_FUNCTIONS_MODULE (see README). */
import { JobFailure } from '../executor';
import type { FunctionRegistry } from './types';

const obj = (input: unknown): Record<string, unknown> =>
  typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const ms = (input: unknown, fallback: number): number => {
  const v = obj(input).ms;
  return typeof v === 'number' && v >= 0 ? v : fallback;
};

/** Made-up, deterministic training metrics for step i of n: the loss falls, the accuracy rises. */
export function stepMetrics(i: number, n: number): { loss: number; accuracy: number } {
  const decay = Math.exp((-3 * i) / n);
  return { loss: Number(decay.toFixed(4)), accuracy: Number((1 - 0.9 * decay).toFixed(4)) };
}

export const builtinFunctions: FunctionRegistry = {
  /** Returns its input. */
  echo: (input) => input,

  /** Waits `ms` (default 100), honouring cancel and timeout. */
  sleep: async (input, ctx) => {
    const wait = ms(input, 100);
    await sleep(wait, ctx.signal);
    return { slept_ms: wait };
  },

  /** Throws: `{"message": "...", "retryable": false}`. */
  fail: (input) => {
    const o = obj(input);
    const message = typeof o.message === 'string' ? o.message : 'failed on purpose (the fail function)';
    throw new JobFailure({ type: 'handler_error', exception: 'FunctionError', message }, { retryable: o.retryable !== false });
  },

  /**
   * Streams: yields `text` (default "hello from kiln") word by word, `ms` apart (default 0),
   * each an `output` event on GET /jobs/:id/events; the result is the list of words.
   */
  stream: async function* (input, ctx) {
    const o = obj(input);
    const text = typeof o.text === 'string' ? o.text : 'hello from kiln';
    const each = ms(input, 0);
    for (const word of text.split(/\s+/).filter(Boolean).slice(0, 10_000)) {
      if (each > 0) await sleep(each, ctx.signal);
      yield word;
    }
  },

  /** Reports `steps` progress updates `ms` apart (defaults 5 and 20), each with `loss` and `accuracy` metrics, and logs a line per step. */
  progress: async (input, ctx) => {
    const o = obj(input);
    const steps = typeof o.steps === 'number' && o.steps > 0 ? Math.min(1000, Math.floor(o.steps)) : 5;
    const each = ms(input, 20);
    for (let i = 1; i <= steps; i++) {
      await sleep(each, ctx.signal);
      ctx.progress(i / steps, `step ${i}/${steps}`, stepMetrics(i, steps));
      ctx.log('info', `step ${i}/${steps}`);
    }
    return { steps };
  },
};
