/** GET /static/style.css, /favicon.ico */
import type { Handler } from './context.js';
import { STYLESHEET } from './stylesheet.js';

export const stylesheet: Handler = async () => ({
  status: 200,
  contentType: 'text/css; charset=utf-8',
  body: STYLESHEET,
  headers: { 'Cache-Control': 'public, max-age=3600' },
});

/** Browsers ask for it on every page; there is none, and "no content" keeps their consoles quiet. */
export const favicon: Handler = async () => ({ status: 204, contentType: 'image/x-icon', body: '' });
