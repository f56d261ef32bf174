// NestJS 12 service and client for the comparison row (the same workload as benchmarks/mqtt.py).
// Uses the NestJS install of tests/interop/nest_app (run `npm ci` there first).
//
//   node benchmarks/nestjs.mjs service --port P            prints READY, serves until SIGTERM
//   node benchmarks/nestjs.mjs client --port P --mode rpc|events --n N --c C [--stock]
//
// The client prints one JSON line like the Python drivers. Nest 12's stock client subscribes to
// the reply topic before each request and unsubscribes after it (--stock); by default the
// client is patched to keep its reply subscriptions, as nestpy does.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(
  fileURLToPath(new URL('../tests/interop/nest_app/package.json', import.meta.url)),
);
require('reflect-metadata');
const { Controller, Module, Logger } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const {
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  Transport,
} = require('@nestjs/microservices');
const { lastValueFrom } = require('rxjs');

Logger.overrideLogger(false); // stdout is for READY and the result line

const [role, ...rest] = process.argv.slice(2);
const opt = {};
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--stock') opt.stock = true;
  else opt[rest[i].replace(/^--/, '')] = rest[++i];
}
const url = `mqtt://${opt.host ?? '127.0.0.1'}:${opt.port}`;
const protocolVersion = Number(opt.protocol ?? 4);
const mqttOptions = { url, protocolVersion };
const now = () => Number(process.hrtime.bigint()) / 1e9; // CLOCK_MONOTONIC, like Python's

function decorate(cls, key, decorator) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, key);
  const result = decorator(cls.prototype, key, descriptor);
  if (result) Object.defineProperty(cls.prototype, key, result);
}

async function service() {
  const stats = { count: 0, last: 0, latencies: [] };
  class BenchController {
    sum(numbers) {
      return numbers.reduce((a, b) => a + b, 0);
    }
    counted(data) {
      const t = now();
      stats.count += 1;
      stats.last = t;
      stats.latencies.push(t - data.sent);
    }
    count(query) {
      const report = { count: stats.count, last: stats.last };
      if (query.latencies) report.latencies = stats.latencies;
      if (query.reset) Object.assign(stats, { count: 0, last: 0, latencies: [] });
      return report;
    }
  }
  decorate(BenchController, 'sum', MessagePattern('sum'));
  decorate(BenchController, 'counted', EventPattern('counted'));
  decorate(BenchController, 'count', MessagePattern('count/0'));
  Controller()(BenchController);
  class BenchModule {}
  Module({ controllers: [BenchController] })(BenchModule);
  const app = await NestFactory.createMicroservice(BenchModule, {
    transport: Transport.MQTT,
    options: mqttOptions,
    logger: false,
  });
  await app.listen();
  process.stdout.write('READY\n');
  process.on('SIGTERM', async () => {
    await app.close();
    process.exit(0);
  });
}

function percentile(sorted, fraction) {
  if (!sorted.length) return 0;
  return sorted[Math.max(1, Math.ceil(fraction * sorted.length)) - 1];
}

async function client() {
  const n = Number(opt.n ?? 20000);
  const c = Number(opt.c ?? 64);
  const mode = opt.mode ?? 'rpc';
  const proxy = ClientProxyFactory.create({ transport: Transport.MQTT, options: mqttOptions });
  if (!opt.stock) {
    // Keep reply subscriptions: count down, never unsubscribe.
    proxy.unsubscribeFromChannel = function (channel) {
      this.subscriptionsCount.set(channel, (this.subscriptionsCount.get(channel) || 1) - 1);
    };
  }
  await proxy.connect();
  const send = (pattern, data) => lastValueFrom(proxy.send(pattern, data));
  const out = { impl: opt.stock ? 'nestjs-stock' : 'nestjs', mode, n, concurrency: c };
  if (mode === 'rpc') {
    const run = async count => {
      const latencies = [];
      let remaining = count;
      const worker = async () => {
        while (remaining > 0) {
          remaining -= 1;
          const sent = now();
          await send('sum', [1, 2, 3]);
          latencies.push(now() - sent);
        }
      };
      const started = now();
      await Promise.all(Array.from({ length: Math.min(c, count) }, worker));
      return [now() - started, latencies];
    };
    await send('sum', [1, 2, 3]);
    await run(Math.min(2000, Math.max(c * 4, Math.floor(n / 5))));
    const [seconds, latencies] = await run(n);
    latencies.sort((a, b) => a - b);
    Object.assign(out, {
      seconds: +seconds.toFixed(4),
      rps: +(n / seconds).toFixed(1),
      p50_ms: +(percentile(latencies, 0.5) * 1000).toFixed(3),
      p99_ms: +(percentile(latencies, 0.99) * 1000).toFixed(3),
    });
  } else {
    const emit = async count => {
      for (let start = 0; start < count; start += c) {
        const batch = Math.min(c, count - start);
        await Promise.all(
          Array.from({ length: batch }, () =>
            lastValueFrom(proxy.emit('counted', { numbers: [1, 2, 3], sent: now() }), {
              defaultValue: undefined,
            }),
          ),
        );
      }
    };
    const collect = async expected => {
      let total = -1;
      let stalledSince = now();
      for (;;) {
        const report = await send('count/0', { reset: false });
        if (report.count !== total) [total, stalledSince] = [report.count, now()];
        if (total >= expected || now() - stalledSince > 2) break;
        await new Promise(resolve => setTimeout(resolve, 20));
      }
      return send('count/0', { reset: true, latencies: true });
    };
    await emit(Math.min(2000, Math.max(c * 4, Math.floor(n / 5))));
    await collect(Math.min(2000, Math.max(c * 4, Math.floor(n / 5))));
    const started = now();
    await emit(n);
    const got = await collect(n);
    const latencies = got.latencies.sort((a, b) => a - b);
    const seconds = got.last - started;
    Object.assign(out, {
      seconds: +seconds.toFixed(4),
      eps: +(got.count / seconds).toFixed(1),
      p50_ms: +(percentile(latencies, 0.5) * 1000).toFixed(3),
      p99_ms: +(percentile(latencies, 0.99) * 1000).toFixed(3),
      lost: n - got.count,
    });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await proxy.close();
  process.exit(0);
}

(role === 'service' ? service() : client()).catch(err => {
  process.stderr.write(`FATAL ${err?.stack ?? err}\n`);
  process.exit(1);
});
