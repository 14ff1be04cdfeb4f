/** Entry point of `npm run guests` (see fetch-guests.ts). */
import { mkdirSync } from 'node:fs';
import { fetchGuests, guestCacheDir } from './fetch-guests.js';
import { GuestFetchError } from './debian-archive.js';

const dir = process.argv[2] ?? guestCacheDir();
try {
  mkdirSync(dir, { recursive: true });
  fetchGuests(dir);
} catch (err) {
  if (!(err instanceof GuestFetchError)) throw err;
  console.error(`tsemu guests: ${err.message}`);
  process.exitCode = 1;
}
