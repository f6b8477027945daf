/** Sign in with an admin or read-only token, typed into a password field and kept in sessionStorage only. */
import { useState } from 'preact/hooks';

export function SignIn(props: { error: string | undefined; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="sign-in" id="main">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) props.onToken(value.trim());
        }}
      >
        <h1>
          <span class="dot" aria-hidden="true" /> Pinger
        </h1>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          placeholder="pgr_admin_… or pgr_read_…"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby={props.error ? 'token-error' : 'token-help'}
          aria-invalid={props.error ? true : undefined}
          autofocus
        />
        {props.error ? (
          <p class="field-error" id="token-error" role="alert">
            {props.error}
          </p>
        ) : (
          <p class="help" id="token-help">
            An admin token can change things; a read-only token (<code>pinger token create</code>) sees
            everything. The token stays in this tab only.
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
