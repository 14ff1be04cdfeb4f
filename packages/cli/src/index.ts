// What other workspaces (bench, tests) use from the CLI package.
export { guestCacheDir, readGuestManifest, type GuestManifest } from './guest-images/fetch-guests.js';
export { GUEST_PROMPT } from './guest-images/initramfs.js';
