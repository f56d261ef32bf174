// Shared by service.js and client.js: MQTT options from the environment and a logger that
// keeps stdout free for the line protocol (READY / one JSON result per command).
import { Logger } from '@nestjs/common';

/** Logger for Nest that writes every level to stderr, one line per message. */
export const stderrLogger = {
  log: (message, context) => writeLog('LOG', message, context),
  error: (message, ...rest) => writeLog('ERROR', message, rest.at(-1), rest.slice(0, -1)),
  warn: (message, context) => writeLog('WARN', message, context),
  debug: (message, context) => writeLog('DEBUG', message, context),
  verbose: (message, context) => writeLog('VERBOSE', message, context),
  fatal: (message, context) => writeLog('FATAL', message, context),
};

function writeLog(level, message, context, extra = []) {
  const text = message instanceof Error ? `${message.name}: ${message.message}` : message;
  const ctx = typeof context === 'string' ? `[${context}] ` : '';
  const more = extra
    .filter(x => x !== undefined)
    .map(x => (typeof x === 'string' ? x : JSON.stringify(x)))
    .join(' ');
  process.stderr.write(`${level} ${ctx}${typeof text === 'string' ? text : JSON.stringify(text)}${more ? ` ${more}` : ''}\n`);
}

Logger.overrideLogger(stderrLogger);

function jsonEnv(name) {
  const raw = process.env[name];
  return raw ? JSON.parse(raw) : undefined;
}

/**
 * MQTT options shared by the service and the client:
 *   NEST_MQTT_URL             broker URL (default mqtt://127.0.0.1:1883)
 *   NEST_MQTT_VERSION         4 (MQTT 3.1.1, Nest's default) or 5
 *   NEST_MQTT_CLIENT_ID       optional client id
 *   NEST_MQTT_USER_PROPERTIES optional JSON object: client-wide userProperties (client only)
 *   NEST_MQTT_SUBSCRIBE_OPTIONS optional JSON object: subscribeOptions (service only)
 */
export function mqttOptions() {
  const options = {
    url: process.env.NEST_MQTT_URL || 'mqtt://127.0.0.1:1883',
    protocolVersion: Number(process.env.NEST_MQTT_VERSION || 4),
  };
  if (process.env.NEST_MQTT_CLIENT_ID) {
    options.clientId = process.env.NEST_MQTT_CLIENT_ID;
  }
  const userProperties = jsonEnv('NEST_MQTT_USER_PROPERTIES');
  if (userProperties) {
    options.userProperties = userProperties;
  }
  const subscribeOptions = jsonEnv('NEST_MQTT_SUBSCRIBE_OPTIONS');
  if (subscribeOptions) {
    options.subscribeOptions = subscribeOptions;
  }
  return options;
}

/** Applies a method decorator by hand (no TypeScript/Babel build step). */
export function decorateMethod(cls, key, ...decorators) {
  const proto = cls.prototype;
  for (const decorator of decorators) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    const result = decorator(proto, key, descriptor);
    if (result) {
      Object.defineProperty(proto, key, result);
    }
  }
}

/** Applies parameter decorators by hand: params is a list of [index, decorator]. */
export function decorateParams(cls, key, params) {
  for (const [index, decorator] of params) {
    decorator(cls.prototype, key, index);
  }
}
