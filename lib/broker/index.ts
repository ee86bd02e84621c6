/**
 * The broker (`ibmvmc serve`): one process holds the HMC session and shares it
 * with many local programs over a Unix socket. Its wire protocol (`wire/`),
 * the broker itself (`server/`), and its log and metrics hooks (`observe/`).
 */
export * from './wire/index';
export * from './server/index';
export { createJsonLog, silentLog } from './observe/log';
export type { BrokerLog, BrokerLogFields, BrokerLogLevel, LogSink } from './observe/log';
export { noMetrics } from './observe/metrics';
export type { BrokerMetrics, BrokerRequestOutcome } from './observe/metrics';
