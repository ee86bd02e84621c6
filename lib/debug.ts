import { debuglog } from 'node:util';

/** `NODE_DEBUG=ibmvmc` logs every system call, retry and state change. */
export const debug = debuglog('ibmvmc');
