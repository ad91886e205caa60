//! `switchyard user add|remove|list`: users of the built-in authorization server's login.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use switchyard_auth::server::{add_user, list_users, remove_user};
use switchyard_store::SqlStore;

use crate::config::Config;

/// `switchyard user`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
    /// Configuration file whose `auth.database_url` to use.
    #[arg(long, global = true, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (overrides the config; default: the SQLite file `serve` uses).
    #[arg(long, global = true, env = "SWITCHYARD_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Adds a user (or sets a new password). The password is read from the environment
    /// variable named by --password-env, or else from one line of standard input.
    Add {
        /// User name.
        username: String,
        /// Environment variable holding the password.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Removes a user.
    Remove {
        /// User name.
        username: String,
    },
    /// Lists users.
    List,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let url = match (&args.database_url, &args.config) {
            (Some(u), _) => u.clone(),
            (None, Some(p)) => match Config::load(p)?.auth.database_url {
                Some(u) => u,
                None => switchyard_store::default_sqlite_url()?,
            },
            (None, None) => switchyard_store::default_sqlite_url()?,
        };
        let store = SqlStore::open(&url)
            .await
            .with_context(|| format!("opening {url}"))?;
        match args.action {
            Action::Add {
                username,
                password_env,
            } => {
                let password = match password_env {
                    Some(var) => {
                        std::env::var(&var).with_context(|| format!("${var} is not set"))?
                    }
                    None => {
                        let mut line = String::new();
                        std::io::stdin().lock().read_line(&mut line)?;
                        line.trim_end_matches(['\r', '\n']).to_owned()
                    }
                };
                if password.is_empty() {
                    anyhow::bail!("the password is empty");
                }
                add_user(&store, &username, &password).await?;
                eprintln!("user {username} saved");
            }
            Action::Remove { username } => {
                if !remove_user(&store, &username).await? {
                    eprintln!("no user {username}");
                    return Ok(ExitCode::from(1));
                }
                eprintln!("user {username} removed");
            }
            Action::List => {
                for u in list_users(&store).await? {
                    println!("{u}");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
