/**
 * What every generated codec has in place of protons' streaming decoder (client/proto.mjs leaves
 * those out): messages here are decoded whole, never field by field.
 */
export function * noStream (): Generator<never> {
  throw new Error('this build decodes protobuf messages whole: streaming decode is left out')
}
