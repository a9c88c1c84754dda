export async function serveReward(opts: { port: number; host: string }): Promise<void> {
  const { startRewardServer } = await import('../verify/server.js');
  const server = await startRewardServer({ port: opts.port, host: opts.host });
  process.stdout.write(`reward service listening on ${server.url} (POST /reward, GET /health)\n`);
  const stop = async (): Promise<void> => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
