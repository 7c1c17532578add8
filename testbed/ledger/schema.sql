-- The ledger of the reference trading cluster. Idempotent: safe to apply again and again.
-- Prices are integer ticks (bigint), never floats. Every acknowledgement (a new order, a
-- cancel) takes nextval('ack_seq') inside the transaction that commits it: monotonic, gaps
-- allowed.

create sequence if not exists ack_seq;

create table if not exists orders (
    order_id        uuid primary key,
    seq             bigint not null unique,
    account         text not null,
    client_order_id text,
    symbol          text not null,
    side            text not null check (side in ('buy', 'sell')),
    type            text not null check (type in ('limit', 'market')),
    price_ticks     bigint check (price_ticks > 0),
    quantity        bigint not null check (quantity > 0),
    filled          bigint not null default 0 check (filled >= 0 and filled <= quantity),
    status          text not null
                    check (status in ('new', 'partially_filled', 'filled', 'cancelled')),
    cancel_seq      bigint unique,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    unique (account, client_order_id),
    check ((type = 'limit') = (price_ticks is not null))
);

-- The matcher rebuilds its books from the open orders of its symbols, in seq order.
create index if not exists orders_open_by_symbol on orders (symbol, seq)
    where status in ('new', 'partially_filled');

create table if not exists trades (
    trade_id       bigserial primary key,
    seq            bigint not null,
    symbol         text not null,
    price_ticks    bigint not null check (price_ticks > 0),
    quantity       bigint not null check (quantity > 0),
    buy_order_id   uuid not null references orders (order_id),
    sell_order_id  uuid not null references orders (order_id),
    buy_account    text not null,
    sell_account   text not null,
    aggressor_side text not null check (aggressor_side in ('buy', 'sell')),
    created_at     timestamptz not null default now()
);

create index if not exists trades_by_buy_order on trades (buy_order_id);
create index if not exists trades_by_sell_order on trades (sell_order_id);
create index if not exists trades_by_buy_account on trades (buy_account);
create index if not exists trades_by_sell_account on trades (sell_account);

-- Which matcher owns each symbol's book, under which shard-map epoch. A matcher claims a
-- symbol (epoch only grows) before it loads the book, and every transaction that commits on
-- the symbol reads this row FOR SHARE and checks the epoch: a claim waits for the previous
-- owner's commits in flight, and fences every commit it would make afterwards.
create table if not exists symbol_owners (
    symbol     text primary key,
    epoch      bigint not null check (epoch >= 1),
    owner      text not null,
    claimed_at timestamptz not null default now()
);
