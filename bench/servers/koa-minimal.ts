/**
 * Scenario (a′), the framework's limit: the smallest Koa 3 + @koa/router app that does what an
 * allowed check does on the wire, answering `GET /authz/nginx` with 200 and one identity header.
 * The distance from (a) is what Koa and the router cost; the distance from here to (b)–(e) is
 * what gatehouse itself costs.
 */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { closeOnSignal, listenAndAnnounce } from './ready-line.ts';

const app = new Koa();
const router = new Router();
router.get('/authz/nginx', (ctx) => {
  ctx.set('X-Auth-Request-User', 'bench');
  ctx.status = 200;
  ctx.body = '';
});
app.use(router.routes());
app.use(router.allowedMethods());

const handler = app.callback();
const server = createServer((request, response) => void handler(request, response));
server.keepAliveTimeout = 65_000;
closeOnSignal(server);
await listenAndAnnounce(server);
