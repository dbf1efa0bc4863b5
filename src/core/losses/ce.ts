// Hard-label cross-entropy: mean over the batch of −log softmax(z)[y] (torch's nn.CrossEntropyLoss).
import { obj } from '../schema/dsl';
import { termFields } from './fields';
import { defineLoss } from './types';
import { tap } from './util';

export default defineLoss({
  type: 'ce',
  title: 'Cross-entropy',
  paper: 'the hard labels',
  reference: 'torch nn.CrossEntropyLoss',
  knowledge: 'label',
  schema: obj('Hard-label cross-entropy with the true labels.', { ...termFields }),
  example: { type: 'ce', weight: 0.1 },
  uses: { teacher: false, labels: true },
  compute(_term, { tf, student, labels }) {
    if (!labels) throw new Error('a ce term needs the labels');
    const logits = tap(student, 'logits', 'student');
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[logits.shape.length - 1]).asType('float32');
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1)));
  },
});
