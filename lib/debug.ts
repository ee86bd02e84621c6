import { debuglog } from 'node:util';

/** `NODE_DEBUG=ibmvmc` logs every system call, retry and state change. */
export const debug = debuglog('ibmvmc');

/**
 * Whether `debug` prints (NODE_DEBUG is read once, as `debuglog` does): the
 * per-message paths test it first, so a silent log costs them nothing.
 */
export const debugEnabled: boolean = debug.enabled;
