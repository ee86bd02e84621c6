/**
 * Where a fake device's attach socket is, and what tells a process about it:
 * the socket sits beside the fake's wire socket, and the environment the
 * fake gives its processes names it, so a test process reaches the controls
 * of a fake some other process started (a Jest globalSetup, the
 * `ibmvmc fake-device` wrapper).
 */

/** The variable naming a fake's attach socket; `attachFakeDevice()` reads it when given no path. */
export const FAKE_ATTACH_ENV = 'IBMVMC_FAKE_ATTACH';

/** Appended to the wire socket's path to name the attach socket. */
export const ATTACH_SUFFIX = '.attach';

/**
 * The attach protocol's version, sent in the first message. Both ends must
 * be the same version: the messages are V8-serialized objects whose shape
 * follows the package, so an attach from another version is refused.
 */
export const ATTACH_PROTOCOL_VERSION = 1;

/**
 * The attach socket of the fake whose wire socket is `socketPath`.
 *
 * @param socketPath - The fake's wire (control) socket.
 */
export function attachPathFor(socketPath: string): string {
  return socketPath + ATTACH_SUFFIX;
}
