/** the error a promise rejects with; fails the test if it resolves */
export async function rejectionOf (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection, but the promise resolved')
}
