import { readFileSync } from 'node:fs'

/** The package's version (for the log, `meshchat --version` and meshchat_build_info), read from package.json beside the build. */
export function packageVersion (): string {
  // dist/node/src/version.js and node/src/version.ts both sit two or three levels under the package root
  for (const up of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'meshchat' && pkg.version != null) return pkg.version
    } catch {}
  }
  return 'unknown'
}
