/**
 * Server-Sent Events parsed from a response body read chunk by chunk (the WHATWG event-stream
 * format: `event:`, `data:` (joined by newlines), `id:`, comments, blank-line
 * dispatch; LF, CRLF or CR line ends).
 */
export interface SseEvent {
  event: string;
  data: string;
  /** This event's own `id:` (not carried over from earlier events, unlike a browser's lastEventId). */
  id: string | undefined;
}

/** Leaving the loop early (break, return, throw) closes the body, and with it the connection. */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      // a lone CR at the end may be the first half of a CRLF: wait for more
      if (!m || (m[0] === '\r' && m.index === buf.length - 1)) break;
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
        event = '';
        data = [];
        id = undefined;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = val;
      else if (field === 'data') data.push(val);
      else if (field === 'id' && !val.includes('\0')) id = val;
    }
  }
}
