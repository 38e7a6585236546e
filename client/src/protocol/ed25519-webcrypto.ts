import { setDefaultEd25519Verifier } from './signing.js'
import type { AsyncEd25519VerifierFactory } from './signing.js'

/*
 * Ed25519 checks through the platform's WebCrypto where it has them (found out by checking a known
 * signature, below; the Chromium the tests drive has them, and so does Node 24): native code instead
 * of JavaScript curve arithmetic. In a page of the web app reading a busy room, the JavaScript check
 * was about half a millisecond of the main thread per message.
 */

const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], b => parseInt(b, 16))

/** RFC 8032, section 7.1, test 1: the empty message signed by this key */
const RFC8032_KEY = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
const RFC8032_SIG = fromHex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')

/** a verifier per author whose key is imported once; a key WebCrypto refuses verifies nothing */
export const webCryptoEd25519Verifier: AsyncEd25519VerifierFactory = publicKey => {
  const subtle = globalThis.crypto.subtle
  const key = subtle.importKey('raw', publicKey.slice(), { name: 'Ed25519' }, false, ['verify'])
  // awaited at each check below; a refused key must not also surface as an unhandled rejection
  key.catch(() => {})
  return async (data, signature) => {
    if (signature.byteLength !== 64) return false
    try {
      return await subtle.verify({ name: 'Ed25519' }, await key, signature.slice(), data.slice())
    } catch {
      return false
    }
  }
}

/** whether this platform's WebCrypto checks Ed25519 right, found out once */
let supported: Promise<boolean> | undefined

async function webCryptoChecksEd25519 (): Promise<boolean> {
  supported ??= (async () => {
    if (globalThis.crypto?.subtle == null) return false
    try {
      const check = webCryptoEd25519Verifier(RFC8032_KEY)
      const altered = RFC8032_SIG.slice()
      altered[0] = (altered[0] as number) ^ 1
      return await check(new Uint8Array(0), RFC8032_SIG) && !(await check(new Uint8Array(0), altered))
    } catch {
      return false
    }
  })()
  return supported
}

/**
 * Check events with WebCrypto's Ed25519 from here on, unless a verifier is installed already (Node's
 * clients and nodes install their own): only where WebCrypto verifies RFC 8032's test vector and
 * refuses it altered. Resolves true when installed. A ChatClient calls it when it is made.
 */
export async function useWebCryptoEd25519 (): Promise<boolean> {
  return await webCryptoChecksEd25519() && setDefaultEd25519Verifier(webCryptoEd25519Verifier)
}
