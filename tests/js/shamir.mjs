// Cross-check for Sealpost's Shamir split: an independent, audited implementation over the same
// field (GF(2^8), x^8+x^4+x^3+x+1). Its share bytes are the y values followed by the x coordinate.
//   node shamir.mjs combine HEX...        -> the secret, hex
//   node shamir.mjs split HEX N K         -> N shares, hex, one per line
import { split, combine } from 'shamir-secret-sharing';

const [mode, ...args] = process.argv.slice(2);
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const bytes = (text) => new Uint8Array(Buffer.from(text, 'hex'));
if (mode === 'combine') {
  console.log(hex(await combine(args.map(bytes))));
} else if (mode === 'split') {
  for (const share of await split(bytes(args[0]), Number(args[1]), Number(args[2]))) {
    console.log(hex(share));
  }
} else {
  console.error('usage: shamir.mjs combine HEX... | split HEX N K');
  process.exit(2);
}
