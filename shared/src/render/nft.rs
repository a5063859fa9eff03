//! nftables renderer (Linux). Filled in by the nft renderer work.
