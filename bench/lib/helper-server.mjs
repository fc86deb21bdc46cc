/** The tail every bench helper server (ceiling, batched ceiling) shares: a 404, and the listen-and-report to the runner. */

/** Answers 404 with no body. */
export function notFound(res) {
  res.statusCode = 404;
  res.end();
}

/** Listens on PORT (or a free port) on loopback, tells the runner `{ ready, port }`, exits when the runner goes. */
export function listenForRunner(server) {
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.send?.({ ready: true, port: server.address().port });
  });
  process.on('disconnect', () => process.exit(0));
}
