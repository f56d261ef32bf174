// A stock NestJS MQTT microservice for nestpy's interop tests (plain ESM JavaScript: the
// decorators are applied by hand, so no build step is needed).
//
//   NEST_MQTT_URL=mqtt://127.0.0.1:18830 NEST_MQTT_VERSION=4 node service.js
//
// Prints `READY` on stdout once listening; all Nest logs go to stderr.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ctx,
  EventPattern,
  MessagePattern,
  Payload,
  RpcException,
  Transport,
} from '@nestjs/microservices';
import { concat, EMPTY, from, ignoreElements, interval, of, take, throwError, timer } from 'rxjs';
import { decorateMethod, decorateParams, mqttOptions, stderrLogger } from './common.js';

const range = n => Array.from({ length: n }, (_, i) => i);
const describePacket = (packet) => ({
  topic: packet.topic,
  qos: packet.qos,
  retain: packet.retain,
  dup: packet.dup,
  properties: packet.properties ?? null,
});

class MathController {
  constructor() {
    this.events = [];
  }

  // ---- request / response -------------------------------------------------------------
  sum(data) {
    return data.reduce((a, b) => a + b, 0);
  }

  sumObject(data) {
    return data.reduce((a, b) => a + b, 0);
  }

  mixedCaseObject(data) {
    return data;
  }

  /** Replies after `data` milliseconds (for timeouts and concurrency). */
  async slow(data) {
    await new Promise(resolve => setTimeout(resolve, data));
    return data;
  }

  /** Asynchronous stream: interval + take, so the last value and completion share a tick. */
  countUp(n) {
    return interval(5).pipe(take(n));
  }

  /** Synchronous stream: from([0..n-1]). */
  countUpSync(n) {
    return from(range(n));
  }

  /** Stream that completes in a later tick than its last value. */
  countUpLate(n) {
    return concat(interval(5).pipe(take(n)), timer(30).pipe(ignoreElements()));
  }

  /** One value, then an RpcException. */
  failStream() {
    return concat(of(1), throwError(() => new RpcException('mid-stream')));
  }

  empty() {
    return EMPTY;
  }

  none() {
    return undefined;
  }

  nullValue() {
    return null;
  }

  async asyncValue(data) {
    await new Promise(resolve => setTimeout(resolve, 5));
    return { echoed: data };
  }

  failRpc() {
    throw new RpcException('bad');
  }

  failObj() {
    throw new RpcException({ code: 7 });
  }

  crash() {
    throw new Error('x');
  }

  /** Uses the @Payload() / @Ctx() parameter decorators. */
  temperature(data, ctx) {
    return { topic: ctx.getTopic(), data };
  }

  /** Single-level wildcard (case 16 of nest-reference.md section 5). */
  sensor(data, ctx) {
    return { topic: ctx.getTopic(), data };
  }

  echoProps(_data, ctx) {
    return ctx.getPacket().properties?.userProperties ?? null;
  }

  echoPacket(data, ctx) {
    return { data, packet: describePacket(ctx.getPacket()) };
  }

  eventsSeen() {
    return this.events;
  }

  eventsClear() {
    const n = this.events.length;
    this.events = [];
    return n;
  }

  // ---- events -------------------------------------------------------------------------
  userCreated(data, ctx) {
    this.events.push({ topic: ctx.getTopic(), data });
  }

  lamp(data, ctx) {
    this.events.push({ topic: ctx.getTopic(), data });
  }

  alerts(data, ctx) {
    this.events.push({ topic: ctx.getTopic(), data, qos: ctx.getPacket().qos });
  }
}

const messages = {
  sum: 'sum',
  sumObject: { cmd: 'sum', a: 1 },
  mixedCaseObject: { b: 'x', B: 'y', a: 1, A: 2 },
  slow: 'slow',
  countUp: 'count_up',
  countUpSync: 'count_up_sync',
  countUpLate: 'count_up_late',
  failStream: 'fail_stream',
  empty: 'empty',
  none: 'none',
  nullValue: 'null_value',
  asyncValue: 'async_value',
  failRpc: 'fail_rpc',
  failObj: 'fail_obj',
  crash: 'crash',
  temperature: 'sensors/+/temperature/+',
  sensor: 'sensors/+',
  echoProps: 'echo_props',
  echoPacket: 'echo_packet',
  eventsSeen: 'events_seen',
  eventsClear: 'events_clear',
};
for (const [method, pattern] of Object.entries(messages)) {
  decorateMethod(MathController, method, MessagePattern(pattern));
}
// Nest 12 passes only the payload by default: the context needs @Ctx().
for (const method of ['temperature', 'sensor', 'echoProps', 'echoPacket', 'userCreated', 'lamp', 'alerts']) {
  decorateParams(MathController, method, [
    [0, Payload()],
    [1, Ctx()],
  ]);
}
decorateMethod(MathController, 'userCreated', EventPattern('user_created'));
decorateMethod(MathController, 'lamp', EventPattern('lamp/+'));
decorateMethod(MathController, 'alerts', EventPattern('alerts', { qos: 2 }));
Controller()(MathController);

class AppModule {}
Module({ controllers: [MathController] })(AppModule);

async function main() {
  const app = await NestFactory.createMicroservice(AppModule, {
    transport: Transport.MQTT,
    options: mqttOptions(),
    logger: stderrLogger,
  });
  await app.listen();
  process.stdout.write('READY\n');
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown); // the parent went away
  process.stdin.resume();
}

main().catch(err => {
  process.stderr.write(`FATAL ${err?.stack ?? err}\n`);
  process.exit(1);
});
