/** A user name for dev sign-in and SDFLEET_TOKENS: 1–64 of letters, digits, space and `._-@`. */
const NAME = /^[\p{L}\p{N} ._@-]{1,64}$/u;

/** The name, NFC-normalised and trimmed, or undefined when it is not a valid name. */
export function validName(raw: string): string | undefined {
  const name = raw.normalize('NFC').trim();
  if (!NAME.test(name)) return undefined;
  return name;
}

/** What a name may be, for error messages. */
export const NAME_RULE = '1–64 characters: letters, digits, spaces and . _ - @';

/**
 * An e-mail as an identity id: an `accounts.google.com:` prefix removed (IAP's headers have
 * it), lower-cased (mail providers treat addresses case-insensitively, and ids must compare
 * equal). Undefined when it does not look like an address.
 */
export function emailId(raw: string): string | undefined {
  const email = raw.replace(/^accounts\.google\.com:/, '').trim().toLowerCase();
  if (email.length > 254 || /\p{Cc}/u.test(email) || !/^[^\s@,;"<>()]+@[^\s@,;"<>()]+$/.test(email)) return undefined;
  return email;
}
