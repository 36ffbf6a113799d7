/** The interface texts the page objects look for (a copy of app/src/ui/i18n.rs, only what the specs use). */
export interface Texts {
  lang: 'fr' | 'en';
  otherLanguage: string;
  login: string;
  email: string;
  password: string;
  showPasswords: string;
  hidePasswords: string;
  tagline: string;
  myEcheances: string;
  addCard: string;
  replaceCard: string;
  saveCard: string;
  pay: string;
  authenticate: string;
  authTitle: string;
  authSuccess: string;
  authRetry: string;
  authNoscript: string;
  adminTitle: string;
  status: string;
  customer: string;
  apply: string;
  attempts: string;
  totals: string;
  reconcileNow: string;
  timeline: string;
  cancelEcheance: string;
  retryCharge: string;
  /** An admin action that went through. */
  done: string;
  /** The notice shown only while a charge's outcome is unknown. */
  processing: string;
  /** The payment service did not answer. */
  unavailable: string;
  /** Stripe answered that it does not know the payment or the card. */
  unknownToStripe: string;
}

export const FR: Texts = {
  lang: 'fr',
  otherLanguage: 'English',
  login: 'Se connecter',
  email: 'Adresse e-mail',
  password: 'Mot de passe',
  showPasswords: 'Afficher les mots de passe',
  hidePasswords: 'Masquer les mots de passe',
  tagline: 'Vos paiements en plusieurs fois, prélevés au bon moment — jamais deux fois.',
  myEcheances: 'Mes échéances',
  addCard: 'Enregistrer une carte',
  replaceCard: 'Remplacer la carte',
  saveCard: 'Enregistrer la carte',
  pay: 'Payer',
  authenticate: 'Authentifier le paiement',
  authTitle: 'Authentification du paiement',
  authSuccess: 'Paiement confirmé',
  authRetry: "Réessayer l'authentification",
  authNoscript: "L'authentification 3D Secure a besoin de JavaScript.",
  adminTitle: 'Tableau de bord des échéances',
  status: 'Statut',
  customer: 'Client',
  apply: 'Filtrer',
  attempts: 'Tentatives',
  totals: 'Totaux par statut',
  reconcileNow: 'Réconcilier maintenant',
  timeline: 'Chronologie',
  cancelEcheance: "Annuler l'échéance",
  retryCharge: 'Relancer le prélèvement',
  done: "C'est fait.",
  processing: 'Le paiement est en cours de traitement',
  unavailable: 'Le service de paiement ne répond pas',
  unknownToStripe: 'Stripe ne connaît pas ce paiement',
};

export const EN: Texts = {
  lang: 'en',
  otherLanguage: 'Français',
  login: 'Log in',
  email: 'Email address',
  password: 'Password',
  showPasswords: 'Show passwords',
  hidePasswords: 'Hide passwords',
  tagline: 'Your installment payments, collected on time — never twice.',
  myEcheances: 'My installments',
  addCard: 'Save a card',
  replaceCard: 'Replace the card',
  saveCard: 'Save the card',
  pay: 'Pay',
  authenticate: 'Authenticate the payment',
  authTitle: 'Payment authentication',
  authSuccess: 'Payment confirmed',
  authRetry: 'Try the authentication again',
  authNoscript: '3D Secure authentication needs JavaScript.',
  adminTitle: 'Installments dashboard',
  status: 'Status',
  customer: 'Customer',
  apply: 'Filter',
  attempts: 'Attempts',
  totals: 'Totals by status',
  reconcileNow: 'Reconcile now',
  timeline: 'Timeline',
  cancelEcheance: 'Cancel the installment',
  retryCharge: 'Retry the charge',
  done: 'Done.',
  processing: 'The payment is being processed',
  unavailable: 'The payment service is not answering',
  unknownToStripe: 'Stripe does not know this payment',
};

/** French words of the interface an English page must not show (data such as labels aside). */
export const FRENCH_WORDS = [
  'Tentative',
  'essai',
  'envoyé',
  'Chronologie',
  'Relancer',
  'Annuler',
  'Payée',
  'En cours',
  'cause',
  'par',
  'clé',
  'motif',
  'appel',
  'Mes échéances',
  'Ma carte',
  'Payer',
  'Échouée',
  'Statut',
  'Montant',
  'Se déconnecter',
  'refusé',
  'banque',
  'Enregistrer',
  'expire',
  'Tableau de bord',
  'Action requise',
] as const;

/** English interface words a French page never shows. Not words the specs' own data spells
 * (`seedAdmin('admin-timeline')`, `nojs-cancel`, `nojs-dashboard`), nor technical ones kept as Stripe says them
 * (event types such as `payment_intent.succeeded`, `PaymentIntent`). */
export const ENGLISH_WORDS = [
  'the',
  'failed',
  'listing',
  'not available',
  'could not',
  'Log out',
  'Retry',
  'Attempt',
  'Status',
  'Amount',
  'Drift',
] as const;
