/**
 * Reading a POST body: only `application/x-www-form-urlencoded` (what an HTML
 * form sends), at most 64 KiB, parsed into the same typed Params as a query.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError, Params } from './params.js';

const MAX_FORM_BYTES = 64 * 1024;

export async function readForm(req: IncomingMessage): Promise<Params> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, 'send the form as application/x-www-form-urlencoded');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_FORM_BYTES) throw new HttpError(413, 'the form is too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new HttpError(413, 'the form is too large');
    chunks.push(chunk);
  }
  return new Params(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}
