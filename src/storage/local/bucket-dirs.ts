/**
 * Which directory names under the data directory are buckets.
 */

/**
 * True for a valid general purpose bucket name
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3-63
 * characters of a-z, 0-9, '.', '-'; starting and ending with a letter or digit; no '..'; not an
 * IPv4 address. Such a name is always a safe single directory name (never '.', '..' or hidden).
 */
export function isValidBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..')) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return false;
  return true;
}
