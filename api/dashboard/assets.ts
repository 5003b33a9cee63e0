/** The dashboard's static files, by the name they have under /ui/. */
import { API_JS } from './client/api';
import { APP_JS } from './client/app';
import { CHART_JS } from './client/chart';
import { DOM_JS } from './client/dom';
import { FORMAT_JS } from './client/format';
import { FAVICON_SVG } from './client/icon';
import { JOB_PAGE_JS } from './client/job-page';
import { LOGS_JS } from './client/logs';
import { OVERVIEW_JS } from './client/overview';
import { SSE_JS } from './client/sse';
import { SUBMIT_JS } from './client/submit';
import { APP_CSS } from './styles';

export interface DashboardAsset {
  type: string;
  body: string;
}

const js = (body: string): DashboardAsset => ({ type: 'text/javascript; charset=utf-8', body });

export const DASHBOARD_ASSETS: Readonly<Record<string, DashboardAsset>> = {
  'app.js': js(APP_JS),
  'api.js': js(API_JS),
  'sse.js': js(SSE_JS),
  'dom.js': js(DOM_JS),
  'format.js': js(FORMAT_JS),
  'chart.js': js(CHART_JS),
  'logs.js': js(LOGS_JS),
  'overview.js': js(OVERVIEW_JS),
  'job-page.js': js(JOB_PAGE_JS),
  'submit.js': js(SUBMIT_JS),
  'app.css': { type: 'text/css; charset=utf-8', body: APP_CSS },
  'favicon.svg': { type: 'image/svg+xml', body: FAVICON_SVG },
};
