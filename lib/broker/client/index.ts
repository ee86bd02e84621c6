/**
 * The client side of the broker: `connect({ broker })` and what it is made of.
 */
export { BrokerTransport } from './broker-transport';
export { DEFAULT_BROKER_SOCKET, BROKER_ENV } from './socket-path';
export type { BrokerClientOptions, BrokerEvents } from './options';
export { probeBroker } from './probe';
export type { BrokerProbe } from './probe';
