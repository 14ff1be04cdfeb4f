/**
 * ioctl calls that throw KvmError { ioctl, errno } on failure, so no caller can forget
 * to check the -1. The request name is passed in (not looked up) to keep errors exact.
 */
import { KvmError } from './errors.js';
import { libc } from './libc.js';

export function ioctlInt(fd: number, name: string, request: number, arg: number | bigint = 0): number {
  const c = libc();
  const ret = c.ioctlInt(fd, request, arg);
  if (ret < 0) {
    const errno = c.errno();
    throw new KvmError(name, errno, c.strerror(errno));
  }
  return ret;
}

export function ioctlBuf(fd: number, name: string, request: number, buf: Uint8Array): number {
  const c = libc();
  const ret = c.ioctlBuf(fd, request, buf);
  if (ret < 0) {
    const errno = c.errno();
    throw new KvmError(name, errno, c.strerror(errno));
  }
  return ret;
}
