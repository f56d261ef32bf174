// A stock NestJS MQTT client (ClientProxyFactory -> ClientMqtt) driven by JSON lines on stdin,
// for nestpy's interop tests. One command per line, one JSON result line per command on stdout,
// in order (all Nest logs go to stderr):
//
//   {"op":"send","pattern":"sum","data":[1,2,3]}          -> {"ok":true,"values":[6]}
//   {"op":"send","pattern":"count_up","data":3}           -> {"ok":true,"values":[0,1,2]}
//   {"op":"send","pattern":"fail_rpc","data":1}           -> {"ok":false,"error":{...},"values":[]}
//   {"op":"emit","pattern":"user_created","data":{"a":1}} -> {"ok":true,"values":[]}
//   {"op":"send","pattern":"echo_props","data":1,"userProperties":{"k":"v"},"qos":1}
//       (userProperties / qos / retain / dup wrap data in an MqttRecordBuilder record)
//   {"op":"batch","commands":[{...},{...}]}               -> {"ok":true,"results":[{...},{...}]}
//       (the commands are in flight together; each starts once the previous one is published)
//   {"op":"close"}                                        -> {"ok":true}, closes the client
//
// A command may carry "timeoutMs"; the default is NEST_TIMEOUT_MS (3000). A timed-out command
// reports {"ok":false,"timeout":true,"values":[<values received before the timeout>]}.
// An error that is an Error instance (not a value sent by the server) is reported as
// {"ok":false,"error":{"name":..,"message":..},"exception":true}.
// The process exits when stdin ends.
import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { ClientProxyFactory, MqttRecordBuilder, Transport } from '@nestjs/microservices';
import { mqttOptions } from './common.js';

const DEFAULT_TIMEOUT_MS = Number(process.env.NEST_TIMEOUT_MS || 3000);

const client = ClientProxyFactory.create({ transport: Transport.MQTT, options: mqttOptions() });

function payloadOf(cmd) {
  const wantsRecord = ['userProperties', 'qos', 'retain', 'dup', 'properties'].some(k => k in cmd);
  if (!wantsRecord) {
    return cmd.data;
  }
  const builder = new MqttRecordBuilder(cmd.data);
  if (cmd.qos !== undefined) builder.setQoS(cmd.qos);
  if (cmd.retain !== undefined) builder.setRetain(cmd.retain);
  if (cmd.dup !== undefined) builder.setDup(cmd.dup);
  const properties = { ...(cmd.properties ?? {}) };
  if (cmd.userProperties !== undefined) properties.userProperties = cmd.userProperties;
  if (Object.keys(properties).length > 0) builder.setProperties(properties);
  return builder.build();
}

function describeError(err) {
  if (err instanceof Error) {
    return { ok: false, error: { name: err.name, message: err.message }, exception: true };
  }
  return { ok: false, error: err === undefined ? null : err };
}

function run(cmd) {
  const timeoutMs = cmd.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise(resolve => {
    const values = [];
    let subscription;
    let settled = false;
    const settle = result => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Unsubscribe after the current callback: tears the request down (reply subscription).
      setImmediate(() => subscription?.unsubscribe());
      resolve(result);
    };
    const timer = setTimeout(() => settle({ ok: false, timeout: true, values }), timeoutMs);
    let source$;
    try {
      const data = payloadOf(cmd);
      if (cmd.op === 'send') source$ = client.send(cmd.pattern, data);
      else if (cmd.op === 'emit') source$ = client.emit(cmd.pattern, data);
      else throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
    } catch (err) {
      settle({ ...describeError(err), values });
      return;
    }
    subscription = source$.subscribe({
      // emit() emits `undefined` once the publish callback fired: not a value worth reporting.
      next: value => (cmd.op === 'emit' ? undefined : values.push(value)),
      error: err => settle({ ...describeError(err), values }),
      complete: () => settle({ ok: true, values }),
    });
  });
}

/**
 * Waits (at most 500 ms) until MQTT.js has no packet awaiting an acknowledgement, e.g. the
 * UNSUBSCRIBE of the previous request's reply topic. Starting concurrent requests on that
 * pattern while it is pending makes the stock client lose a reply (see nest_wire_facts.py).
 */
async function quiesce() {
  const deadline = Date.now() + 500;
  let mqttClient;
  try {
    mqttClient = client.unwrap();
  } catch {
    return; // not connected yet
  }
  while (Object.keys(mqttClient.outgoing ?? {}).length > 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 1));
  }
}

/**
 * Starts `cmd`; `published` resolves once a send is registered in the client's routing map
 * (its reply subscription is then up) or once the command settled. A batch starts its
 * commands one after the other on that signal: all are in flight together, but a request never
 * starts while another one on its pattern still waits for its SUBACK, which makes the stock
 * client lose replies (nest_wire_facts.py, case 4).
 */
function runPublished(cmd) {
  const before = new Set(client.routingMap.keys());
  let settled = false;
  const result = run(cmd).finally(() => {
    settled = true;
  });
  const published = (async () => {
    const deadline = Date.now() + (cmd.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    while (cmd.op === 'send' && !settled && Date.now() < deadline) {
      if ([...client.routingMap.keys()].some(id => !before.has(id))) return;
      await new Promise(resolve => setTimeout(resolve, 1));
    }
  })();
  return { result, published };
}

async function handle(cmd) {
  await quiesce();
  if (cmd.op === 'batch') {
    const pending = [];
    for (const sub of cmd.commands) {
      pending.push(runPublished(sub));
      await pending.at(-1).published;
    }
    const results = await Promise.all(pending.map(p => p.result));
    return { ok: true, results };
  }
  if (cmd.op === 'close') {
    await client.close();
    return { ok: true };
  }
  return run(cmd);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let result;
  try {
    result = await handle(JSON.parse(line));
  } catch (err) {
    result = { ok: false, error: { name: err?.name, message: String(err?.message ?? err) }, exception: true };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
await client.close();
process.exit(0);
