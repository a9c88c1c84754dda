/** Entry of an HTML extraction pool worker. */
import { serveTasks } from '../../shared/pool/worker-runtime.js';
import { runHtmlTask, type HtmlTask } from './html-pool.js';

serveTasks((task: HtmlTask) => runHtmlTask(task));
