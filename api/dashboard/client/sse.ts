/**
 * Browser module /ui/sse.js: Server-Sent Events over fetch() and a
 * ReadableStream (EventSource cannot send the Authorization header).
 */
export const SSE_JS = String.raw`
import { apiFetch, ApiError } from './api.js';

/** Feeds text chunks in, calls onEvent({event, data, id}) per complete event (the WHATWG parsing rules). */
export function createSseParser(onEvent) {
  let buffer = '';
  let data = [];
  let event = '';
  let id = null;
  let lastWasCr = false;
  function line(l) {
    if (l === '') {
      if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n'), id });
      data = [];
      event = '';
      return;
    }
    if (l.startsWith(':')) return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  }
  return function push(chunk) {
    let text = chunk;
    if (lastWasCr && text.startsWith('\n')) text = text.slice(1);
    lastWasCr = text.endsWith('\r');
    buffer += text;
    const parts = buffer.split(/\r\n|\r|\n/);
    buffer = parts.pop();
    parts.forEach(line);
  };
}

/**
 * GETs an SSE endpoint and dispatches its events until the stream ends or the
 * signal aborts. Resolves with 'ended' or 'aborted'; a non-2xx answer rejects
 * with an ApiError.
 */
export async function followSse(path, onEvent, signal) {
  let res;
  try {
    res = await apiFetch(path, { signal, headers: { accept: 'text/event-stream' } });
  } catch (err) {
    if (signal && signal.aborted) return 'aborted';
    throw err;
  }
  if (!res.ok) {
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch {}
    throw new ApiError(res.status, body, 'GET ' + path + ' answered ' + res.status);
  }
  const push = createSseParser(onEvent);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      push(value);
    }
  } catch (err) {
    if (signal && signal.aborted) return 'aborted';
    throw err;
  }
}
`;
