/**
 * A preload (`node --import`) for benchmarks: V8's sampling heap profiler in this process, between
 * two SIGUSR2 signals. The first starts it, the second stops it and writes the profile to the file
 * named by MESHCHAT_ALLOC_PROF_OUT (Chrome's .heapprofile format). Objects collected meanwhile stay
 * in the counts, so the profile is where the window's allocations were made, not what was left of
 * them: the garbage the collector had to deal with. Without MESHCHAT_ALLOC_PROF_OUT it does nothing
 * (and SIGUSR2 keeps its default action).
 */
import { Session } from 'node:inspector'
import { renameSync, writeFileSync } from 'node:fs'

/** bytes between samples: V8 samples an allocation about once per this many bytes allocated */
const SAMPLING_INTERVAL_BYTES = 1024

const out = process.env.MESHCHAT_ALLOC_PROF_OUT
if (out != null && out !== '') {
  const session = new Session()
  session.connect()
  let sampling = false
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true
      session.post('HeapProfiler.enable', () => {
        session.post('HeapProfiler.startSampling', {
          samplingInterval: SAMPLING_INTERVAL_BYTES,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true
        })
      })
      return
    }
    sampling = false
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (err != null) {
        process.stderr.write(`allocation profile not taken: ${err.message}\n`)
        return
      }
      // whole or not at all: the harness takes the file once it is there
      writeFileSync(`${out}.part`, JSON.stringify(res.profile))
      renameSync(`${out}.part`, out)
    })
  })
}
