/** Whether the screen is a phone's (the layout's one breakpoint, 600 px): tables show fewer columns then. */
import { onMounted, onUnmounted, ref, type Ref } from 'vue';

const QUERY = '(max-width: 600px)';

export function useNarrow(): Ref<boolean> {
  const media = window.matchMedia(QUERY);
  const narrow = ref(media.matches);
  const follow = (event: MediaQueryListEvent): void => {
    narrow.value = event.matches;
  };
  onMounted(() => media.addEventListener('change', follow));
  onUnmounted(() => media.removeEventListener('change', follow));
  return narrow;
}
