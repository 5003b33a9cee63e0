/**
 * GET /openapi.json and GET /docs: the app's OpenAPI document and a page that
 * shows it, rendered here from the document (no CDN, no disk: it works offline
 * and in workerd). Both are built once, on first request, after every route is in.
 */
import { buildDocument, type OpenApiDocument, registerDocumentComponents } from '../openapi/document';
import { type DocsInput, renderDocsPage } from '../openapi/docs-page';
import { addRoute, type Router } from '../openapi/router';
import { openApiRoute } from './system-spec';

/** The page has no script and loads nothing: a strict policy costs nothing. */
const PAGE_HEADERS = { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'" };

export function serveApiDocs(app: Router): void {
  registerDocumentComponents(app);
  let doc: OpenApiDocument | undefined;
  let page: string | undefined;
  const document = () => (doc ??= buildDocument(app));
  addRoute(app, openApiRoute, (c) => c.json(document()));
  // An HTML page, not an API route: listed as such in tests/openapi.test.ts.
  app.get('/docs', (c) => c.html((page ??= renderDocsPage(document() as DocsInput)), 200, PAGE_HEADERS));
}
