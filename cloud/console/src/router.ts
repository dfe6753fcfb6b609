/**
 * The console's pages, each loaded when first opened (the first page stays small). Every page but
 * sign-in needs a session; a one-time password leads to choosing one's own first.
 */
import { createRouter, createWebHistory } from 'vue-router';
import { restore, session, signedIn } from './session.js';

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/', redirect: '/fleet' },
    { path: '/sign-in', name: 'sign-in', component: () => import('./pages/SignInPage.vue'), meta: { public: true } },
    { path: '/fleet', name: 'fleet', component: () => import('./pages/FleetPage.vue') },
    { path: '/agents/:id', name: 'agent', component: () => import('./pages/AgentPage.vue'), props: true },
    { path: '/tickets', name: 'tickets', component: () => import('./pages/TicketsPage.vue') },
    { path: '/tickets/:id', name: 'ticket', component: () => import('./pages/TicketPage.vue'), props: true },
    { path: '/sessions', name: 'sessions', component: () => import('./pages/SessionsPage.vue') },
    { path: '/sessions/:id', name: 'session', component: () => import('./pages/SessionPage.vue'), props: true },
    { path: '/quality', name: 'quality', component: () => import('./pages/QualityPage.vue') },
    { path: '/audit', name: 'audit', component: () => import('./pages/AuditPage.vue') },
    { path: '/admin', name: 'admin', component: () => import('./pages/AdminPage.vue') },
    { path: '/:rest(.*)*', redirect: '/fleet' },
  ],
});

let restored: Promise<void> | undefined;

router.beforeEach(async (to) => {
  restored ??= restore().catch(() => undefined);
  await restored;
  if (to.meta.public === true) return true;
  if (!signedIn.value) return { name: 'sign-in', query: session.account === undefined && to.fullPath !== '/fleet' ? { next: to.fullPath } : {} };
  return true;
});
