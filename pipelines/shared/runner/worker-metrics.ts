import { createServer, type Server } from 'node:http';
import type { Worker } from 'bullmq';

interface StageCounters {
  units: number;
  items: number;
  failures: number;
  retries: number;
  stalled: number;
  unitSeconds: number;
  active: number;
}

/**
 * A queue worker's counters in the Prometheus text format (`GET /metrics`): units and items done
 * (rate() of them is units/s and items/s), failures, retries, stalls, time in units, units in flight
 * and the queue depth per stage.
 */
export class WorkerMetrics {
  private readonly stages = new Map<string, StageCounters>();
  private readonly started = Date.now();

  private of(stage: string): StageCounters {
    let c = this.stages.get(stage);
    if (!c) {
      c = { units: 0, items: 0, failures: 0, retries: 0, stalled: 0, unitSeconds: 0, active: 0 };
      this.stages.set(stage, c);
    }
    return c;
  }

  watch(stage: string, worker: Worker): void {
    this.of(stage);
    worker.on('active', () => this.of(stage).active++);
    worker.on('completed', () => this.of(stage).active--);
    worker.on('failed', () => (this.of(stage).active = Math.max(0, this.of(stage).active - 1)));
  }

  unit(stage: string, ms: number): void {
    const c = this.of(stage);
    c.units++;
    c.unitSeconds += ms / 1000;
  }
  items(stage: string, n: number): void {
    this.of(stage).items += n;
  }
  /** A failed delivery: `willRetry` when BullMQ has attempts left, else the unit failed for good. */
  failed(stage: string, willRetry: boolean): void {
    if (willRetry) this.of(stage).retries++;
    else this.of(stage).failures++;
  }
  stalled(stage: string): void {
    this.of(stage).stalled++;
  }

  render(depth: Record<string, number>): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: (c: StageCounters, stage: string) => number): void => {
      lines.push(`# HELP stratum_worker_${name} ${help}`, `# TYPE stratum_worker_${name} ${type}`);
      for (const [stage, c] of this.stages) lines.push(`stratum_worker_${name}{stage="${stage}"} ${value(c, stage)}`);
    };
    metric('units_total', 'counter', 'Units processed by this worker.', (c) => c.units);
    metric('items_total', 'counter', 'Input items processed by this worker.', (c) => c.items);
    metric('unit_seconds_total', 'counter', 'Seconds spent in units.', (c) => c.unitSeconds);
    metric('failures_total', 'counter', 'Units that failed on their last attempt here.', (c) => c.failures);
    metric('retries_total', 'counter', 'Failed deliveries BullMQ retries.', (c) => c.retries);
    metric('stalled_total', 'counter', 'Units found stalled (their worker died) and handed on.', (c) => c.stalled);
    metric('active_units', 'gauge', 'Units in flight on this worker.', (c) => c.active);
    metric('queue_depth', 'gauge', 'Units waiting in the queue.', (_c, stage) => depth[stage] ?? 0);
    lines.push('# HELP stratum_worker_uptime_seconds Seconds since the worker started.', '# TYPE stratum_worker_uptime_seconds gauge');
    lines.push(`stratum_worker_uptime_seconds ${(Date.now() - this.started) / 1000}`);
    return lines.join('\n') + '\n';
  }

  /** Serves `GET /metrics` on host:port; resolves with the server once listening. */
  serve(port: number, host: string, depth: () => Promise<Record<string, number>>): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('try /metrics\n');
        return;
      }
      depth()
        .catch(() => ({}))
        .then((d) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render(d)));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
