/**
 * The broker (`ibmvmc serve`): one process holds the HMC session and shares it
 * with many local programs over a Unix socket. So far: its wire protocol.
 */
export * from './wire/index';
