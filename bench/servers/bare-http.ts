/**
 * Scenario (a), the limit of this machine: a bare node:http server answering 200 with an empty
 * body to every request. Nothing gatehouse does can be faster than this on one core; it is also
 * the upstream application behind nginx in scenario (g).
 */
import { createServer } from 'node:http';
import { closeOnSignal, listenAndAnnounce } from './ready-line.ts';

const server = createServer((_request, response) => {
  response.statusCode = 200;
  response.end();
});
// Match gatehouse's keep-alive (server.keepAliveTimeout default 65s) so connection reuse is equal.
server.keepAliveTimeout = 65_000;
closeOnSignal(server);
await listenAndAnnounce(server);
