/** One clock for every countdown on the page, ticking each second while something shows one. */
import { onMounted, onUnmounted, ref, type Ref } from 'vue';

const now = ref(Date.now());
let users = 0;
let timer: ReturnType<typeof setInterval> | undefined;

export function useNow(): Ref<number> {
  onMounted(() => {
    users += 1;
    timer ??= setInterval(() => (now.value = Date.now()), 1000);
  });
  onUnmounted(() => {
    users -= 1;
    if (users === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  });
  return now;
}
