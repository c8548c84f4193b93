/**
 * Kubernetes name rules (apimachinery's validation.IsQualifiedName, IsValidLabelValue,
 * IsDNS1123Subdomain). Each returns the list of problems, empty when valid, worded as
 * Kubernetes words them so users can search for them.
 */

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const NAME_PART_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/**
 * Keys found valid, remembered: every write of a labelled object checks the same few
 * keys again (a GameServerAllocation's, then its GameServer's), and the check splits and
 * runs two expressions (~3 % of an allocation's CPU). Bounded; cleared when full, so keys
 * sent once each cannot grow it.
 */
const validKeys = new Set<string>();
const VALID_KEYS_MAX = 4096;

/** A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 chars. */
export function qualifiedNameErrors(value: string): string[] {
  if (validKeys.has(value)) return [];
  const errs = checkQualifiedName(value);
  if (errs.length === 0) {
    if (validKeys.size >= VALID_KEYS_MAX) validKeys.clear();
    validKeys.add(value);
  }
  return errs;
}

function checkQualifiedName(value: string): string[] {
  const parts = value.split('/');
  let name: string;
  const errs: string[] = [];
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  } else {
    return [`a qualified name ${NAME_PART_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name.length > 0 && !NAME_PART.test(name)) errs.push(`name part ${NAME_PART_MSG}`);
  return errs;
}

/** A label value: empty, or ≤ 63 chars of the name-part alphabet. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (value.length > 0 && !NAME_PART.test(value)) errs.push(`a valid label ${NAME_PART_MSG}`);
  return errs;
}

/** Object names of most kinds: lower-case DNS subdomain, ≤ 253 chars. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errs.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
  }
  return errs;
}

/** Namespaces and some names: lower-case DNS label, ≤ 63 chars. */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) {
    errs.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
  }
  return errs;
}
