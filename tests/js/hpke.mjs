// Cross-check for Sealpost's HPKE (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256)
// against an independent implementation (hpke-js). AEAD: 1 = AES-128-GCM, 2 = AES-256-GCM.
//   node hpke.mjs seal AEAD IKMR INFO AAD PT [IKME]  -> enc and ciphertext, hex, one per line
//   node hpke.mjs open AEAD IKMR ENC INFO AAD CT     -> plaintext, hex
// Key pairs come from DeriveKeyPair (§7.1.3) over the given seeds; IKME fixes the ephemeral key.
import { CipherSuite, Aes128Gcm, Aes256Gcm, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';

const [mode, aead, ...args] = process.argv.slice(2);
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const bytes = (text) => new Uint8Array(Buffer.from(text, 'hex')).buffer;
const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: aead === '1' ? new Aes128Gcm() : new Aes256Gcm(),
});

if (mode === 'seal') {
  const [ikmR, info, aad, pt, ikmE] = args;
  const recipient = await suite.kem.deriveKeyPair(bytes(ikmR));
  const sender = await suite.createSenderContext({
    recipientPublicKey: recipient.publicKey,
    info: bytes(info),
    ...(ikmE ? { ekm: bytes(ikmE) } : {}),
  });
  console.log(hex(sender.enc));
  console.log(hex(await sender.seal(bytes(pt), bytes(aad))));
} else if (mode === 'open') {
  const [ikmR, enc, info, aad, ct] = args;
  const recipient = await suite.kem.deriveKeyPair(bytes(ikmR));
  const context = await suite.createRecipientContext({ recipientKey: recipient, enc: bytes(enc), info: bytes(info) });
  console.log(hex(await context.open(bytes(ct), bytes(aad))));
} else {
  console.error('usage: hpke.mjs seal AEAD IKMR INFO AAD PT [IKME] | open AEAD IKMR ENC INFO AAD CT');
  process.exit(2);
}
